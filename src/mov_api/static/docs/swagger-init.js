// Starts Swagger UI in #swagger-ui. The page carries no inline script (the docs' CSP forbids
// it), so the address of the OpenAPI document comes from the element's data-openapi-url.
"use strict";

(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // the default sends the document to validator.swagger.io: nothing leaves this origin
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
