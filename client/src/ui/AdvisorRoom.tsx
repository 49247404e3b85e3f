// `/room/<consultation_id>`: the advisor's side of the room.
import { useEffect, useState } from "react";
import { api } from "../protocol/api";
import type { Account } from "../protocol/types";
import { ConnectionBanner } from "./ConnectionBanner";
import { useConnection, useConnectionState } from "./hooks";
import { useI18n } from "./i18n";
import { Notice, Page, Spinner } from "./Layout";
import { Room } from "./Room";
import { navigate } from "./router";

export function AdvisorRoom({ consultationId }: { consultationId: string }) {
  const { t, errorText } = useI18n();
  const [account, setAccount] = useState<Account | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);

  useEffect(() => {
    let cancelled = false;
    api
      .session()
      .then((session) => {
        if (cancelled) return;
        if (session.account) setAccount(session.account);
        else if (session.guest) navigate("/c", true);
        else navigate("/login", true);
      })
      .catch((err: unknown) => !cancelled && setLoadError(err));
    return () => {
      cancelled = true;
    };
  }, []);

  const conn = useConnection(account !== null);
  const { state, error } = useConnectionState(conn);

  const header = account && (
    <button type="button" className="button small" onClick={() => navigate("/dashboard")}>
      {t("room.backToDashboard")}
    </button>
  );

  let body;
  if (loadError !== null) body = <Notice kind="error">{errorText(loadError)}</Notice>;
  else if (!account || !conn) body = <Spinner label={t("app.loading")} />;
  else if (state === "refused") body = <ConnectionBanner state={state} error={error} />;
  else body = <Room key={consultationId} conn={conn} consultationId={consultationId} role="advisor" />;
  return (
    <Page header={header} wide>
      {body}
    </Page>
  );
}
