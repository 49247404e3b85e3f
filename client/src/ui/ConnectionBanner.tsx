import type { ConnectionState } from "../protocol/connection";
import type { ErrorBody } from "../protocol/types";
import { errorKey } from "../i18n";
import { useI18n } from "./i18n";
import { Notice } from "./Layout";

/** Tells the user when the real-time connection is not up. */
export function ConnectionBanner({ state, error }: { state: ConnectionState; error: ErrorBody | null }) {
  const { t } = useI18n();
  if (state === "connected") return null;
  if (state === "refused") return <Notice kind="error">{t(errorKey(error?.code ?? "connection_refused"))}</Notice>;
  if (state === "closed") return <Notice kind="error">{t("conn.closed")}</Notice>;
  return <Notice>{t(state === "connecting" ? "conn.connecting" : "conn.reconnecting")}</Notice>;
}
