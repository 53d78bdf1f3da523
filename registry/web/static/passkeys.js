// Passkeys (WebAuthn): creating one while enrolling, and using one as the second step of signing in.
// The options come from the server as JSON with base64url fields; the browser's API wants ArrayBuffers.
(function () {
  "use strict";
  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); }).buffer;
  }
  function toText(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, csrf, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body || {})})
      .then(function (r) { return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error || r.statusText); } return data; }); });
  }
  function credentialJSON(credential) {
    var response = credential.response, out = {id: credential.id, rawId: toText(credential.rawId),
      type: credential.type, clientExtensionResults: credential.getClientExtensionResults(), response: {
        clientDataJSON: toText(response.clientDataJSON)}};
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) { out.response.transports = response.getTransports(); }
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) { out.response.userHandle = toText(response.userHandle); }
    }
    return out;
  }
  function run(box) {
    var button = box.querySelector(".passkey-button"), error = box.querySelector(".passkey-error");
    var registering = box.dataset.passkey === "register";
    button.hidden = false;
    button.addEventListener("click", function () {
      error.hidden = true;
      post(box.dataset.options, box.dataset.csrf).then(function (options) {
        options.challenge = toBuffer(options.challenge);
        if (registering) {
          options.user.id = toBuffer(options.user.id);
          (options.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
          return navigator.credentials.create({publicKey: options});
        }
        (options.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
        return navigator.credentials.get({publicKey: options});
      }).then(function (credential) {
        return post(box.dataset.answer, box.dataset.csrf, credentialJSON(credential));
      }).then(function (answer) { window.location.assign(answer.next); })
        .catch(function (problem) { error.textContent = problem.message; error.hidden = false; });
    });
  }
  if (window.PublicKeyCredential) {
    document.querySelectorAll("[data-passkey]").forEach(run);
  }
})();
