import type { ReactNode } from "react";
import { LANGS } from "../i18n";
import { useI18n } from "./i18n";
import { linkHandler } from "./router";

export function Header({ children }: { children?: ReactNode }) {
  const { lang, setLang, t } = useI18n();
  return (
    <header className="header">
      <a className="brand" href="/" onClick={linkHandler("/")}>
        <svg className="brand-mark" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <path d="M4 5h11a3 3 0 0 1 3 3v5a3 3 0 0 1-3 3H9l-5 4z" fill="currentColor" />
        </svg>
        {t("app.name")}
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
    </div>
  );
}

export function Notice({ kind = "info", children, testId }: { kind?: "info" | "error" | "success"; children: ReactNode; testId?: string }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"} data-testid={testId}>
      {children}
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
