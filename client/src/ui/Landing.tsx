import { useEffect } from "react";
import { Page } from "./Layout";
import { useI18n } from "./i18n";
import { linkHandler } from "./router";

export function Landing() {
  const { t } = useI18n();
  useEffect(() => {
    document.title = t("app.name");
  }, [t]);
  return (
    <Page>
      <section className="card hero">
        <h1>{t("app.name")}</h1>
        <p className="lead">{t("app.tagline")}</p>
        <p className="muted">{t("app.customerHint")}</p>
        <p>
          <a className="button primary" href="/login" onClick={linkHandler("/login")} data-testid="advisor-login-link">
            {t("app.advisorLogin")}
          </a>
        </p>
      </section>
    </Page>
  );
}

export function NotFound() {
  const { t } = useI18n();
  return (
    <Page>
      <section className="card">
        <h1>{t("app.notFound")}</h1>
        <p>
          <a href="/" onClick={linkHandler("/")}>
            {t("app.home")}
          </a>
        </p>
      </section>
    </Page>
  );
}
