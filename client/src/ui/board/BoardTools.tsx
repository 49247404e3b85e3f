// The whiteboard's own toolbar (Excalidraw brings the drawing tools): sticky note, document
// presentation with shared page navigation, and the advisor's lock and clear; export for all.
import { useRef, useState } from "react";
import type { Presentation } from "../../protocol/board";
import type { FileInfo, ParticipantRole } from "../../protocol/types";
import { UPLOAD_EXTENSIONS } from "../../protocol/upload";
import { ConfirmButton } from "../ConfirmButton";
import { useI18n } from "../i18n";
import { presentableKind, type DocKind } from "./pages";

export interface BoardToolsProps {
  role: ParticipantRole;
  consultationId: string;
  locked: boolean;
  canEdit: boolean;
  empty: boolean;
  presentation: Presentation | null;
  files: readonly FileInfo[];
  error: string | null;
  onSticky: () => void;
  onPresent: (file: FileInfo, kind: DocKind, page: number) => void;
  onStopPresenting: () => void;
  onUpload: (file: File, onProgress?: (fraction: number) => void) => Promise<FileInfo>;
  onLock: (locked: boolean) => void;
  onClear: () => void;
  onExport: (format: "png" | "pdf") => void;
  /** An export under way (it may take a while for a large board or a PDF). */
  exporting: "png" | "pdf" | null;
}

const PRESENTABLE = UPLOAD_EXTENSIONS.filter((ext) => [".pdf", ".png", ".jpg", ".jpeg", ".webp"].includes(ext));

export function BoardTools(props: BoardToolsProps) {
  const { t, errorText } = useI18n();
  const { role, locked, canEdit, presentation, files } = props;
  const advisor = role === "advisor";
  const [picking, setPicking] = useState(false);
  const [uploading, setUploading] = useState<{ name: string; fraction: number } | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const presentable = files.filter((f) => !f.deleted && presentableKind(f.content_type) !== null);
  const current = presentation ? files.find((f) => f.id === presentation.file_id) : undefined;

  const pick = (file: FileInfo) => {
    const kind = presentableKind(file.content_type);
    if (!kind) return;
    setPicking(false);
    props.onPresent(file, kind, 1);
  };

  const uploadAndPresent = async (file: File | undefined) => {
    if (!file) return;
    setUploadError(null);
    setUploading({ name: file.name, fraction: 0 });
    try {
      pick(await props.onUpload(file, (fraction) => setUploading({ name: file.name, fraction })));
    } catch (err) {
      setUploadError(errorText(err));
    } finally {
      setUploading(null);
      if (input.current) input.current.value = "";
    }
  };

  const go = (page: number) => {
    if (!presentation) return;
    const file = current ?? {
      id: presentation.file_id,
      name: presentation.name,
      content_type: presentation.content_type,
      size: 0,
      deleted: false,
    };
    props.onPresent(file, presentation.kind, page);
  };

  return (
    <div className="board-tools">
      <div className="board-toolbar" role="toolbar" aria-label={t("board.tools")}>
        {canEdit && (
          <button type="button" className="button small" onClick={props.onSticky} data-testid="board-sticky">
            {t("board.sticky")}
          </button>
        )}
        {advisor && (
          <button
            type="button"
            className="button small"
            aria-expanded={picking}
            onClick={() => setPicking(!picking)}
            data-testid="board-present"
          >
            {t("board.present")}
          </button>
        )}
        {presentation && (
          <span className="board-pages" role="group" aria-label={t("board.pages")}>
            {advisor && (
              <button
                type="button"
                className="button small"
                disabled={presentation.page <= 1}
                onClick={() => go(presentation.page - 1)}
                aria-label={t("board.prevPage")}
                data-testid="board-prev-page"
              >
                ‹
              </button>
            )}
            <span className="board-page-label" data-testid="board-page" aria-live="polite">
              {t("board.pageOf", { page: presentation.page, pages: presentation.pages })}
            </span>
            {advisor && (
              <button
                type="button"
                className="button small"
                disabled={presentation.page >= presentation.pages}
                onClick={() => go(presentation.page + 1)}
                aria-label={t("board.nextPage")}
                data-testid="board-next-page"
              >
                ›
              </button>
            )}
            {advisor && (
              <button type="button" className="button small" onClick={props.onStopPresenting} data-testid="board-stop-presenting">
                {t("board.stopPresenting")}
              </button>
            )}
          </span>
        )}
        <span className="board-toolbar-spacer" />
        {advisor && (
          <button
            type="button"
            className={`button small ${locked ? "primary" : ""}`}
            aria-pressed={locked}
            onClick={() => props.onLock(!locked)}
            data-testid="board-lock"
          >
            {locked ? t("board.unlock") : t("board.lock")}
          </button>
        )}
        {advisor && (
          <ConfirmButton
            className="button small danger"
            label={t("board.clear")}
            question={t("board.clearConfirm")}
            yes={t("board.clearYes")}
            testId="board-clear"
            onConfirm={props.onClear}
          />
        )}
        <button
          type="button"
          className="button small"
          disabled={props.empty || props.exporting !== null}
          onClick={() => props.onExport("png")}
          data-testid="board-export-png"
        >
          {t("board.exportPng")}
        </button>
        <button
          type="button"
          className="button small"
          disabled={props.empty || props.exporting !== null}
          onClick={() => props.onExport("pdf")}
          data-testid="board-export-pdf"
        >
          {t("board.exportPdf")}
        </button>
      </div>
      {picking && (
        <div className="board-picker" role="dialog" aria-label={t("board.pickTitle")} data-testid="board-picker">
          <p>{t("board.pickTitle")}</p>
          {presentable.length === 0 && <p className="muted">{t("board.noFiles")}</p>}
          <ul>
            {presentable.map((file) => (
              <li key={file.id}>
                <button type="button" className="button small" onClick={() => pick(file)} data-testid="board-pick-file">
                  {file.name}
                </button>
              </li>
            ))}
          </ul>
          <label className="button small">
            {uploading ? t("board.uploading") : t("board.uploadAndPresent")}
            <input
              ref={input}
              type="file"
              className="visually-hidden"
              accept={PRESENTABLE.join(",")}
              disabled={uploading !== null}
              onChange={(event) => void uploadAndPresent(event.target.files?.[0])}
              data-testid="board-upload"
            />
          </label>
          {uploading && (
            <div className="board-progress" data-testid="board-upload-progress">
              <progress
                max={100}
                value={Math.round(uploading.fraction * 100)}
                aria-label={t("board.uploadProgress", { name: uploading.name, percent: Math.round(uploading.fraction * 100) })}
              />
            </div>
          )}
          {uploadError && <p className="board-error" role="alert">{uploadError}</p>}
        </div>
      )}
      {locked && !advisor && (
        <p className="board-notice" role="status" data-testid="board-locked-notice">
          {t("board.lockedNotice")}
        </p>
      )}
      {locked && advisor && (
        <p className="board-notice" role="status">
          {t("board.lockedAdvisor")}
        </p>
      )}
      {props.exporting && (
        <p className="board-notice spinner-wrap" role="status" data-testid="board-exporting">
          <span className="spinner" aria-hidden="true" />
          {t("board.exporting", { format: props.exporting.toUpperCase() })}
        </p>
      )}
      {props.error && (
        <p className="board-error" role="alert" data-testid="board-error">
          {props.error}
        </p>
      )}
    </div>
  );
}
