import type { ReactNode } from "react";
import { LANGS } from "../i18n";
import { useBranding } from "./branding";
import { useI18n } from "./i18n";
import { linkHandler } from "./router";

export function Header({ children }: { children?: ReactNode }) {
  const { lang, setLang, t } = useI18n();
  const { logo_url: logo } = useBranding();
  return (
    <header className="header">
      <a className="brand" href="/" onClick={linkHandler("/")} data-testid="brand">
        {logo ? (
          <img className="brand-logo" src={logo} alt="" height={28} data-testid="brand-logo" />
        ) : (
          <svg className="brand-mark" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
            <path d="M4 5h11a3 3 0 0 1 3 3v5a3 3 0 0 1-3 3H9l-5 4z" fill="currentColor" />
          </svg>
        )}
        <span data-testid="brand-name">{t("app.name")}</span>
      </a>
      <div className="header-actions">
        {children}
        <div className="lang-toggle" role="group" aria-label={t("app.language")}>
          {LANGS.map((code) => (
            <button
              key={code}
              type="button"
              className={code === lang ? "active" : ""}
              aria-pressed={code === lang}
              onClick={() => setLang(code)}
              data-testid={`lang-${code}`}
            >
              {code.toUpperCase()}
            </button>
          ))}
        </div>
      </div>
    </header>
  );
}

export function Page({ children, header, wide = false }: { children: ReactNode; header?: ReactNode; wide?: boolean }) {
  return (
    <div className="page">
      <Header>{header}</Header>
      <main className={wide ? "main wide" : "main"}>{children}</main>
      <Footer />
    </div>
  );
}

export function Footer() {
  const { t } = useI18n();
  const { imprint_url: imprint } = useBranding();
  if (!imprint) return null;
  return (
    <footer className="footer">
      <a href={imprint} rel="noopener noreferrer" data-testid="imprint-link">
        {t("app.imprint")}
      </a>
    </footer>
  );
}

export function Notice({ kind = "info", children, testId }: { kind?: "info" | "error" | "success"; children: ReactNode; testId?: string }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"} data-testid={testId}>
      {children}
    </div>
  );
}

/**
 * A polite live region for screen readers. It is in the page before anything is said in
 * it (a region that appears together with its text is often not read out).
 */
export function Announcer({ message, testId }: { message: string; testId?: string }) {
  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid={testId}>
      {message}
    </div>
  );
}

export function Spinner({ label }: { label: string }) {
  return (
    <div className="spinner-wrap" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}
