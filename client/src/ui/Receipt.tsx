// The customer's personal receipt link: offered on the end screen (`ReceiptOffer`), and the
// page it opens (`/r/<token>`: download or erase what Parley holds about them).
import { useCallback, useEffect, useState, type MouseEvent } from "react";
import { api, receiptExportUrl } from "../protocol/api";
import { ApiError } from "../protocol/errors";
import type { ReceiptInfo } from "../protocol/types";
import { formatDate, type Key } from "../i18n";
import { ConfirmButton } from "./ConfirmButton";
import { CopyField } from "./CopyField";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { Notice, Page, Spinner } from "./Layout";

function absoluteUrl(url: string): string {
  try {
    return new URL(url, location.origin).href;
  } catch {
    return url;
  }
}

/** "Get my receipt link" on the customer's end screen. The link lives only in this
 * component's memory: nothing is written to the browser's storage. */
export function ReceiptOffer() {
  const { t, errorText } = useI18n();
  const [url, setUrl] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const get = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const link = await api.newReceipt();
      setUrl(absoluteUrl(link.url));
    } catch (err) {
      const code = err instanceof ApiError ? err.code : "";
      setError(code === "not_authenticated" ? t("receipt.noSession") : t("receipt.failed", { reason: errorText(err) }));
    }
    setBusy(false);
  };

  return (
    <div className="receipt-offer">
      <h2>{t("receipt.title")}</h2>
      {url === null ? (
        <>
          <p className="small">{t("receipt.offer")}</p>
          {error && (
            <Notice kind="error" testId="receipt-offer-error">
              {error}
            </Notice>
          )}
          <button type="button" className="button primary" disabled={busy} onClick={() => void get()} data-testid="receipt-button">
            <Icon name="link" size={16} />
            {t("receipt.button")}
          </button>
        </>
      ) : (
        <>
          <CopyField value={url} label={t("receipt.urlLabel")} testId="receipt-url" />
          <p className="small receipt-keep">{t("receipt.keep")}</p>
        </>
      )}
    </div>
  );
}

type View =
  | { name: "loading" }
  | { name: "invalid" }
  | { name: "failed"; error: unknown }
  | { name: "loaded"; info: ReceiptInfo }
  | { name: "erased" };

function isInvalid(err: unknown): boolean {
  return err instanceof ApiError && ["receipt_invalid", "not_found", "invalid_payload"].includes(err.code);
}

/** Start a download of `href` as if its link had been clicked. */
function startDownload(href: string): void {
  const link = document.createElement("a");
  link.href = href;
  link.download = "";
  link.rel = "noopener";
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/** `/r/<token>`: what the receipt link opens. */
export function Receipt({ token }: { token: string }) {
  const { t, lang, errorText } = useI18n();
  const [view, setView] = useState<View>({ name: "loading" });
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    document.title = `${t("receiptPage.title")} · ${t("app.name")}`;
  }, [t]);

  const load = useCallback(async () => {
    setView({ name: "loading" });
    try {
      setView({ name: "loaded", info: await api.receipt(token) });
    } catch (err) {
      setView(isInvalid(err) ? { name: "invalid" } : { name: "failed", error: err });
    }
  }, [token]);

  useEffect(() => {
    void load();
  }, [load]);

  /** An action failed: say why, and show the page as it now is. */
  const failed = (err: unknown) => {
    if (isInvalid(err)) {
      setView({ name: "invalid" });
      return;
    }
    const code = err instanceof ApiError ? err.code : "";
    if (code === "restricted") {
      setView((v) =>
        v.name === "loaded"
          ? { name: "loaded", info: { consultation: { ...v.info.consultation, restricted: true } } }
          : v,
      );
      setActionError(null);
      return;
    }
    setActionError(code === "invalid_state" ? t("receiptPage.notEnded") : errorText(err));
  };

  // The data may have changed since the page was opened (restricted, erased): ask again
  // first, so that a refusal is explained here instead of being saved as a file.
  const download = async (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setActionError(null);
    try {
      const info = await api.receipt(token);
      setView({ name: "loaded", info });
      if (!info.consultation.restricted) startDownload(receiptExportUrl(token));
    } catch (err) {
      failed(err);
    }
    setBusy(false);
  };

  const erase = async () => {
    if (busy) return;
    setBusy(true);
    setActionError(null);
    try {
      await api.eraseByReceipt(token);
      setView({ name: "erased" });
    } catch (err) {
      failed(err);
    }
    setBusy(false);
  };

  let body;
  if (view.name === "loading") {
    body = <Spinner label={t("app.loading")} />;
  } else if (view.name === "invalid") {
    body = (
      <Notice kind="error" testId="receipt-invalid">
        {t("receiptPage.invalid")}
      </Notice>
    );
  } else if (view.name === "failed") {
    body = (
      <>
        <Notice kind="error" testId="receipt-error">
          {t("receiptPage.failed", { reason: errorText(view.error) })}
        </Notice>
        <button type="button" className="button primary" onClick={() => void load()}>
          {t("receiptPage.retry")}
        </button>
      </>
    );
  } else if (view.name === "erased") {
    body = (
      <Notice kind="success" testId="receipt-erased">
        {t("receiptPage.erased")}
      </Notice>
    );
  } else {
    const c = view.info.consultation;
    const when = c.started_at ?? c.ended_at;
    const stateKey = (["waiting", "lobby", "active", "ended"].includes(c.state)
      ? `receiptPage.state.${c.state}`
      : "receiptPage.state.ended") as Key;
    body = (
      <>
        <p>{t("receiptPage.intro")}</p>
        <dl className="facts" data-testid="receipt-facts">
          <div>
            <dt>{t("receiptPage.date")}</dt>
            <dd>{when ? formatDate(lang, when) : t("receiptPage.unknownDate")}</dd>
          </div>
          <div>
            <dt>{t("receiptPage.state")}</dt>
            <dd data-testid="receipt-state" data-state={c.state}>
              {t(stateKey)}
            </dd>
          </div>
        </dl>
        {c.restricted ? (
          <Notice testId="receipt-restricted">{t("receiptPage.restricted")}</Notice>
        ) : (
          <>
            {actionError && (
              <Notice kind="error" testId="receipt-error">
                {actionError}
              </Notice>
            )}
            <div className="receipt-action">
              <a
                className="button primary"
                href={receiptExportUrl(token)}
                download
                onClick={(e) => void download(e)}
                aria-disabled={busy}
                data-testid="receipt-export"
              >
                <Icon name="download" size={16} />
                {t("receiptPage.download")}
              </a>
              <p className="muted small">{t("receiptPage.downloadHint")}</p>
            </div>
            <div className="receipt-action">
              <ConfirmButton
                label={t("receiptPage.erase")}
                question={t("receiptPage.eraseConfirm")}
                yes={t("receiptPage.eraseYes")}
                icon={<Icon name="trash" size={16} />}
                onConfirm={() => void erase()}
                testId="receipt-erase"
              />
              <p className="muted small">
                {t("receiptPage.eraseHint")} {c.state !== "ended" && t("receiptPage.notEnded")}
              </p>
            </div>
          </>
        )}
      </>
    );
  }

  return (
    <Page>
      <section className="card narrow receipt" data-testid="receipt-page">
        <h1>{t("receiptPage.title")}</h1>
        {body}
      </section>
    </Page>
  );
}
