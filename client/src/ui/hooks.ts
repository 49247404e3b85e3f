import { useEffect, useState } from "react";
import { Connection, type ConnectionState } from "../protocol/connection";
import type { ErrorBody } from "../protocol/types";

/** One Socket.IO connection for the lifetime of the calling component (null until `enabled`). */
export function useConnection(enabled: boolean): Connection | null {
  const [conn, setConn] = useState<Connection | null>(null);
  useEffect(() => {
    if (!enabled) return undefined;
    const connection = new Connection();
    setConn(connection);
    return () => {
      connection.close();
      setConn(null);
    };
  }, [enabled]);
  return conn;
}

export function useConnectionState(conn: Connection | null): { state: ConnectionState; error: ErrorBody | null } {
  const [value, setValue] = useState<{ state: ConnectionState; error: ErrorBody | null }>({
    state: conn?.state ?? "connecting",
    error: conn?.error ?? null,
  });
  useEffect(() => {
    if (!conn) return undefined;
    setValue({ state: conn.state, error: conn.error });
    return conn.onState((state, error) => setValue({ state, error }));
  }, [conn]);
  return value;
}

/** The current time, refreshed every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function secondsSince(iso: string, now: number): number {
  const then = new Date(iso).getTime();
  return Number.isNaN(then) ? 0 : (now - then) / 1000;
}

/** Whether a CSS media query matches, updated when it changes. */
export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const update = () => setMatches(list.matches);
    update();
    list.addEventListener("change", update);
    return () => list.removeEventListener("change", update);
  }, [query]);
  return matches;
}
