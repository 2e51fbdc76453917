// A file input for an image the server will store (an avatar, a guild icon): the chosen file
// is read as a data URI (Discord "Reference > Image Data"), the form the REST routes take.

import { t } from '../strings';

/** The image types the server accepts for avatars, icons and banners. */
const ACCEPTED = 'image/png,image/jpeg,image/gif,image/webp';

/** A chosen image file as a data URI (Discord "Image Data"). */
export function readDataUri(file: File): Promise<string> {
  return new Promise((ok, fail) => {
    const r = new FileReader();
    r.onload = () => ok(String(r.result));
    r.onerror = () => fail(new Error(r.error?.message ?? t.fileReadFailed));
    r.readAsDataURL(file);
  });
}

/** A "choose an image" button: `onChosen` gets the file as a data URI; a file the browser
 *  cannot read is reported through `onError`. The input is cleared, so the same file can be
 *  chosen again. */
export function ImageChooser({
  label,
  onChosen,
  onError,
}: {
  label: string;
  onChosen: (dataUri: string) => void;
  onError: (message: string) => void;
}) {
  return (
    <label className="file-button">
      {label}
      <input
        type="file"
        accept={ACCEPTED}
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) readDataUri(f).then(onChosen, (err: unknown) => onError(err instanceof Error ? err.message : String(err)));
        }}
      />
    </label>
  );
}
