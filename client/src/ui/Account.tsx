// The signed-in account of the advisor and ops pages: loading it, the header with sign-out,
// and where each role belongs.
import { useEffect, useState } from "react";
import { api } from "../protocol/api";
import type { Account } from "../protocol/types";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { navigate } from "./router";

/** The page an account lands on after signing in. */
export function homeOf(account: Pick<Account, "role">): string {
  return account.role === "ops" ? "/ops" : "/dashboard";
}

/** The signed-in account (null while loading); without one, off to the login page. */
export function useAccount(): { account: Account | null; error: unknown } {
  const [account, setAccount] = useState<Account | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    api
      .session()
      .then((session) => {
        if (cancelled) return;
        if (!session.account) navigate("/login", true);
        else setAccount(session.account);
      })
      .catch((err: unknown) => {
        if (!cancelled) setError(err);
      });
    return () => {
      cancelled = true;
    };
  }, []);
  return { account, error };
}

export async function logout(): Promise<void> {
  try {
    await api.logout();
  } catch {
    // Signed out already, or the server is gone; the login page shows which.
  }
  navigate("/login");
}

/** "Signed in as …" and the sign-out button, for the page header. */
export function AccountHeader({ account }: { account: Account }) {
  const { t } = useI18n();
  return (
    <>
      <span className="who" title={account.username}>
        <Icon name="user" size={16} />
        {t("dash.signedInAs", { name: account.display_name || account.username })}
      </span>
      <button type="button" className="button small" onClick={() => void logout()} data-testid="logout-button">
        {t("dash.logout")}
      </button>
    </>
  );
}
