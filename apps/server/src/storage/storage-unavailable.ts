/**
 * The object store cannot be used now — no S3 credentials (the URL signer: asset URLs are null,
 * `/content` answers 503), or an S3 outage that ends a label export (every further pair would fail the
 * same way). Retry when it is back.
 */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}
