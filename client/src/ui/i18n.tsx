import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { detectLang, errorKey, translate, type Key, type Lang, type Vars } from "../i18n";
import { ApiError } from "../protocol/errors";
import { useBranding } from "./branding";

export interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: (key: Key, vars?: Vars) => string;
  /** Human text for an error (ApiError code or anything else). */
  errorText: (err: unknown) => string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => detectLang());
  const brandName = useBranding().name;
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    document.documentElement.lang = next;
  }, []);
  const value = useMemo<I18n>(() => {
    document.documentElement.lang = lang;
    return {
      lang,
      setLang,
      // the product name is the operator's (PARLEY_BRAND_NAME), in every language
      t: (key, vars) => (key === "app.name" ? brandName : translate(lang, key, vars)),
      errorText: (err) => translate(lang, errorKey(err instanceof ApiError ? err.code : "generic")),
    };
  }, [lang, setLang, brandName]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error("useI18n outside I18nProvider");
  return value;
}
