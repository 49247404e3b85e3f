import { useEffect, useRef, useState } from "react";
import { Icon } from "./icons";
import { useI18n } from "./i18n";

async function copyText(text: string, input: HTMLInputElement | null): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection-based copy
    }
  }
  if (!input) return false;
  input.focus();
  input.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  }
}

/** A read-only text field with a Copy button. */
export function CopyField({ value, label, testId }: { value: string; label: string; testId?: string }) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    if (!copied) return undefined;
    const timer = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);

  return (
    <div className="copy-field">
      <input
        ref={input}
        readOnly
        value={value}
        aria-label={label}
        onFocus={(e) => e.currentTarget.select()}
        data-testid={testId}
      />
      <button
        type="button"
        className="button"
        onClick={() => {
          void copyText(value, input.current).then((ok) => setCopied(ok));
        }}
      >
        <Icon name="copy" size={16} />
        <span aria-live="polite">{copied ? t("dash.copied") : t("dash.copy")}</span>
      </button>
    </div>
  );
}
