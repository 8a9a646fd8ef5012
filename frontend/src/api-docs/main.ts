// The interactive API documentation (what users of the reference know from
// `/docs`): Swagger UI over /api/openapi.json, built as a page of its own
// (dist/api-docs/index.html), so the SPA never loads it. "Try it out" sends
// the SPA's session token when one is stored in this browser (same origin),
// so a signed-in user can call the API from here without pasting a token.

import 'swagger-ui-dist/swagger-ui.css';
import './contrast.css';
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-bundle.js';

/** The SPA's storage key for the session token (src/lib/auth-store.ts). */
const TOKEN_STORAGE_KEY = 'wms.token';

interface SwaggerRequest {
  headers: Record<string, string>;
}

function withToken(request: SwaggerRequest): SwaggerRequest {
  const token = localStorage.getItem(TOKEN_STORAGE_KEY);
  if (token !== null && request.headers.Authorization === undefined) {
    request.headers.Authorization = `Bearer ${token}`;
  }
  return request;
}

SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  // Deep links put an anchor inside each operation's toggle button (nested controls).
  deepLinking: false,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
  tryItOutEnabled: false,
  requestInterceptor: withToken,
});
