// Client-side routing by location.pathname with the History API.
import { useEffect, useState, type MouseEvent } from "react";

const EVENT = "parley:navigate";

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new Event(EVENT));
  window.scrollTo(0, 0);
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    window.addEventListener("popstate", update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return path;
}

/** onClick for <a href> elements that should route inside the app. */
export function linkHandler(path: string) {
  return (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(path);
  };
}

export type Route =
  | { name: "landing" }
  | { name: "login" }
  | { name: "dashboard" }
  | { name: "ops" }
  | { name: "check" }
  | { name: "receipt"; token: string }
  | { name: "team"; slug: string }
  | { name: "book"; slug: string }
  | { name: "invite"; token: string }
  | { name: "customer" }
  | { name: "room"; consultationId: string }
  | { name: "not_found" };

function segment(value: string | undefined): string | null {
  if (!value) return null;
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

export function matchRoute(pathname: string): Route {
  const parts = pathname.replace(/\/+$/, "").split("/").slice(1);
  const [head, arg, ...rest] = parts;
  if (head === "t" && rest.length === 1 && rest[0] === "book") {
    const slug = segment(arg);
    return slug ? { name: "book", slug } : { name: "not_found" };
  }
  if (rest.length > 0) return { name: "not_found" };
  if (parts.length === 0 || (parts.length === 1 && head === "")) return { name: "landing" };
  if (arg === undefined) {
    if (head === "login") return { name: "login" };
    if (head === "dashboard") return { name: "dashboard" };
    if (head === "ops") return { name: "ops" };
    if (head === "check") return { name: "check" };
    if (head === "c") return { name: "customer" };
    return { name: "not_found" };
  }
  const value = segment(arg);
  if (!value) return { name: "not_found" };
  if (head === "t") return { name: "team", slug: value };
  if (head === "i") return { name: "invite", token: value };
  if (head === "r") return { name: "receipt", token: value };
  if (head === "room") return { name: "room", consultationId: value };
  return { name: "not_found" };
}
