// Starts Swagger UI on the element that names the schema's URL. It is a file, not a script
// inside the page, so that the page's Content-Security-Policy allows no inline script.
"use strict";
(function () {
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.dataset.url,
    domNode: element,
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis],
    // Its default sends the schema to swagger.io's online validator.
    validatorUrl: null,
  });
})();
