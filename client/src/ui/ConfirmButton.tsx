import { useState } from "react";
import { useI18n } from "./i18n";

/** A destructive button that asks once more before acting. */
export function ConfirmButton({
  label,
  question,
  yes,
  onConfirm,
  testId,
  className = "button danger",
  icon,
}: {
  label: string;
  question: string;
  yes: string;
  onConfirm: () => void;
  testId?: string;
  className?: string;
  icon?: React.ReactNode;
}) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className={className} onClick={() => setAsking(true)} data-testid={testId}>
        {icon}
        <span>{label}</span>
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="confirm-question">{question}</span>
      <button
        type="button"
        className="button danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
        data-testid={testId ? `${testId}-confirm` : undefined}
        autoFocus
      >
        {yes}
      </button>
      <button type="button" className="button" onClick={() => setAsking(false)}>
        {t("room.cancel")}
      </button>
    </span>
  );
}
