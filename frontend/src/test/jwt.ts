// Builds unsigned JWT-shaped tokens for tests (the client never checks signatures).

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

export function makeJwt(claims: Record<string, unknown>): string {
  return [base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })), base64url(JSON.stringify(claims)), 'signature'].join('.');
}

/** A token whose `exp` is `seconds` from the current (possibly faked) time. */
export function jwtExpiringIn(seconds: number, sub = 'admin@wms.example.com'): string {
  return makeJwt({ sub, exp: Math.floor(Date.now() / 1000) + seconds });
}
