// The pieces the `/ops` filter forms share: a day field, a team field, the check of both
// and the first load of a panel.
import { useEffect, useRef } from "react";
import { useI18n } from "./i18n";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const isDay = (value: string) => DAY.test(value);
export const isTeam = (value: string) => value === "" || SLUG.test(value);

interface FieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  testId: string;
}

export function DayField({ label, value, onChange, testId }: FieldProps) {
  return (
    <label className="field">
      <span>{label}</span>
      <input type="date" required value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId} />
    </label>
  );
}

export function TeamField({ label, value, onChange, testId }: FieldProps) {
  const { t } = useI18n();
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="text"
        value={value}
        maxLength={64}
        placeholder={t("ops.teamPlaceholder")}
        autoComplete="off"
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
        data-testid={testId}
      />
    </label>
  );
}

/** Loads once, with `initial()`; later loads come from the form (a language switch, which
 * makes a new `load`, must not reset the query). */
export function useFirstLoad<Q>(load: (query: Q) => Promise<void>, initial: () => Q) {
  const first = useRef(true);
  useEffect(() => {
    if (!first.current) return;
    first.current = false;
    void load(initial());
  }, [load, initial]);
}
