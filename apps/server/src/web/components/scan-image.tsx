export type ScanImageProps = {
  /** Unique on the page (several images → several toggles). */
  id: string;
  /** Signed URL of the scan image; null when the image is not available. */
  imageUrl: string | null;
  /** Signed URL of the overlay (the image with outline, fat line and figures burnt in), if graded. */
  overlayUrl?: string | null;
  alt: string;
  width?: number;
  height?: number;
  /** Start with the overlay shown. */
  overlayOn?: boolean;
};

/**
 * The scan image with its grading overlay on top and a real checkbox that shows or hides the overlay.
 * The toggle is pure CSS (`:checked`), so it works without JavaScript; overlay-toggle.js only adds the
 * "o" key and remembers the choice.
 */
export function ScanImage({
  id,
  imageUrl,
  overlayUrl,
  alt,
  width,
  height,
  overlayOn = true,
}: ScanImageProps) {
  if (!imageUrl) {
    return (
      <div class="scan-image scan-image-missing" role="img" aria-label={`${alt}: image not available`}>
        Image not available
      </div>
    );
  }
  const toggleId = `${id}-overlay`;
  return (
    <div class="scan-image" data-overlay-toggle="">
      {overlayUrl && (
        <div class="field field-check overlay-control">
          <input
            type="checkbox"
            id={toggleId}
            class="overlay-toggle"
            checked={overlayOn}
            aria-controls={`${id}-figure`}
          />
          <label for={toggleId}>
            Show outline and measurements <kbd>o</kbd>
          </label>
        </div>
      )}
      <div class="scan-figure" id={`${id}-figure`}>
        <img class="scan-base" src={imageUrl} alt={alt} width={width} height={height} />
        {overlayUrl && (
          <img
            class="scan-overlay"
            src={overlayUrl}
            alt={`${alt}, with the ribeye outline and the fat-thickness line`}
            width={width}
            height={height}
          />
        )}
      </div>
    </div>
  );
}

/** A small image for lists (lazy-loaded); a labelled placeholder when there is none. */
export function ScanThumb({ url, alt }: { url: string | null; alt: string }) {
  if (!url) {
    return (
      <span class="thumb thumb-missing" role="img" aria-label={`${alt}: no image yet`}>
        no image
      </span>
    );
  }
  return <img class="thumb" src={url} alt={alt} width={96} height={72} loading="lazy" decoding="async" />;
}
