import { useEffect, useState, type FormEvent } from "react";
import { api } from "../protocol/api";
import { ApiError } from "../protocol/errors";
import { Notice, Page } from "./Layout";
import { useI18n } from "./i18n";
import { navigate } from "./router";
import { homeOf } from "./Account";

export function Login() {
  const { t, errorText } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    document.title = `${t("login.title")} · ${t("app.name")}`;
  }, [t]);

  useEffect(() => {
    // Already signed in: straight to the dashboard (advisors) or the statistics (ops).
    let cancelled = false;
    api
      .session()
      .then((session) => {
        if (!cancelled && session.account) navigate(homeOf(session.account), true);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const { account } = await api.login(username.trim(), password);
      navigate(homeOf(account));
    } catch (err) {
      setError(err);
      setBusy(false);
      if (err instanceof ApiError && err.code === "invalid_credentials") setPassword("");
    }
  };

  return (
    <Page>
      <section className="card narrow">
        <h1>{t("login.title")}</h1>
        <form onSubmit={submit} className="form" noValidate>
          <label className="field">
            <span>{t("login.username")}</span>
            <input
              name="username"
              autoComplete="username"
              required
              maxLength={100}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              data-testid="login-username"
              autoFocus
            />
          </label>
          <label className="field">
            <span>{t("login.password")}</span>
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              required
              maxLength={1000}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="login-password"
            />
          </label>
          {error !== null && (
            <Notice kind="error" testId="login-error">
              {errorText(error)}
            </Notice>
          )}
          <button
            type="submit"
            className="button primary"
            disabled={busy || username.trim() === "" || password === ""}
            data-testid="login-submit"
          >
            {t("login.submit")}
          </button>
        </form>
      </section>
    </Page>
  );
}
