// Starts Swagger UI on the API docs page; the OpenAPI document's URL comes from the page (no inline script).
window.addEventListener("DOMContentLoaded", () => {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
