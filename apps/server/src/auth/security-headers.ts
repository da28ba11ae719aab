import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/**
 * Security headers on every response (hono/secure-headers): a CSP without inline scripts or styles
 * (pages load /static/*.js and .css), images also from `imageOrigins` (presigned S3 URLs), no framing
 * (frame-ancestors 'none' + X-Frame-Options DENY), nosniff, Referrer-Policy same-origin, HSTS,
 * COOP same-origin, a Permissions-Policy that turns off sensors the dashboard never uses.
 */
export function securityHeaders({
  imageOrigins = [],
}: {
  imageOrigins?: readonly string[];
} = {}): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:', 'blob:', ...imageOrigins],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'same-origin',
    crossOriginResourcePolicy: 'same-origin',
    permissionsPolicy: { camera: [], microphone: [], geolocation: ['self'], payment: [], usb: [] },
  });
}
