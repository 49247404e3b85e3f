// The privacy notice, its acknowledgement and the name fields that the join form and the
// booking form both ask for.
import { useId } from "react";
import type { Notice } from "../protocol/types";
import { useI18n } from "./i18n";

const NAME_MAX = 60;

interface Props {
  notice: Notice;
  ack: boolean;
  onAck: (ack: boolean) => void;
  firstName: string;
  onFirstName: (value: string) => void;
  lastName: string;
  onLastName: (value: string) => void;
  /** The prefix of the fields' test ids: `join` or `book`. */
  testPrefix: string;
  /** Gives the name inputs `name` attributes (the join form has them). */
  named?: boolean;
}

export function ConsentFields(props: Props) {
  const { t, lang } = useI18n();
  const noticeId = useId();
  const { testPrefix: prefix, named } = props;
  return (
    <>
      <div className="privacy" id={noticeId} tabIndex={0} aria-label={t("join.notice")}>
        <h2>{t("join.notice")}</h2>
        <div className="privacy-text" data-testid="privacy-notice">
          {props.notice.text[lang]}
        </div>
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={props.ack}
          onChange={(e) => props.onAck(e.target.checked)}
          aria-describedby={noticeId}
          data-testid={`${prefix}-ack`}
        />
        <span>{t("join.ack")}</span>
      </label>
      <div className="field-row">
        <label className="field">
          <span>{t("join.firstName")}</span>
          <input
            name={named ? "given-name" : undefined}
            autoComplete="given-name"
            required
            maxLength={NAME_MAX}
            value={props.firstName}
            onChange={(e) => props.onFirstName(e.target.value)}
            data-testid={`${prefix}-first-name`}
          />
        </label>
        <label className="field">
          <span>{t("join.lastName")}</span>
          <input
            name={named ? "family-name" : undefined}
            autoComplete="family-name"
            required
            maxLength={NAME_MAX}
            value={props.lastName}
            onChange={(e) => props.onLastName(e.target.value)}
            data-testid={`${prefix}-last-name`}
          />
        </label>
      </div>
    </>
  );
}
