// Starts ReDoc on the API reference page; the OpenAPI document's URL and the page's style nonce come from the page
// (no inline script). ReDoc puts the nonce on the style elements it adds, which the page's policy allows.
window.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const body = document.body;
  Redoc.init(body.dataset.openapiUrl, { nonce: body.dataset.nonce, hideDownloadButton: false }, document.getElementById("redoc"));
});
