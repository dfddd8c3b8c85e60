// The signing desk's only script (served by the desk itself; the CSP allows no inline script).
// It asks the desk for a single-use challenge bound to the request's digest, has the browser's
// authenticator sign it (WebAuthn), and posts the assertion back; or asks for an SSH signature.
"use strict";

function b64urlToBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function bytesToB64url(buffer) {
  let binary = "";
  for (const b of new Uint8Array(buffer)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  return response.json();
}

function say(form, text, ok) {
  const out = form.querySelector(".desk-result");
  out.textContent = text;
  out.dataset.state = ok ? "ok" : "error";
}

function problems(answer) {
  return (answer.diagnostics || []).map((d) => d.code + " " + d.message).join("；");
}

async function sign(form, method) {
  const cr = form.dataset.cr;
  const signer = form.elements.signer.value;
  const role = form.elements.role.value;
  const action = form.dataset.action || "approve";
  const request = { change_request: cr, role, signer, method, action, digest: form.dataset.digest };
  if (action === "return") {
    request.reason = form.elements.reason.value;
    if (!request.reason.trim()) return say(form, "请填写退回理由", false);
  }
  const challenge = await post("/api/challenge", request);
  if (!challenge.ok) return say(form, problems(challenge), false);
  const body = { change_request: cr, nonce: challenge.nonce };
  if (method === "webauthn") {
    let credential;
    try {
      credential = await navigator.credentials.get({
        publicKey: {
          challenge: b64urlToBytes(challenge.challenge),
          rpId: challenge.rp_id,
          allowCredentials: challenge.credentials.map((id) => ({ type: "public-key", id: b64urlToBytes(id) })),
          userVerification: "preferred",
          timeout: challenge.timeout,
        },
      });
    } catch (error) {
      return say(form, "通行密钥未完成签名：" + error.name, false);
    }
    body.credential_id = bytesToB64url(credential.rawId);
    body.response = {
      authenticator_data: bytesToB64url(credential.response.authenticatorData),
      client_data_json: bytesToB64url(credential.response.clientDataJSON),
      signature: bytesToB64url(credential.response.signature),
    };
  }
  const answer = await post("/api/sign", body);
  if (!answer.ok) return say(form, problems(answer), false);
  const done = answer.action === "return" ? "已退回：" : "已签署：";
  say(form, done + answer.role + " " + answer.name + " " + answer.signed_at, true);
  window.setTimeout(() => window.location.reload(), 800);
}

async function enrolCredential(form) {
  const signer = form.elements.signer.value;
  const started = await post("/api/enrol/options", { signer });
  if (!started.ok) return say(form, problems(started), false);
  const o = started.options;
  const publicKey = {
    rp: o.rp,
    user: { id: b64urlToBytes(o.user.id), name: o.user.name, displayName: o.user.displayName },
    challenge: b64urlToBytes(o.challenge),
    pubKeyCredParams: o.pubKeyCredParams,
    timeout: o.timeout,
    excludeCredentials: (o.excludeCredentials || []).map((c) => ({ type: c.type, id: b64urlToBytes(c.id) })),
    authenticatorSelection: o.authenticatorSelection,
    attestation: o.attestation,
  };
  let created;
  try {
    created = await navigator.credentials.create({ publicKey });
  } catch (error) {
    return say(form, "未能创建通行密钥：" + error.name, false);
  }
  const credential = {
    id: created.id,
    rawId: bytesToB64url(created.rawId),
    type: created.type,
    response: {
      clientDataJSON: bytesToB64url(created.response.clientDataJSON),
      attestationObject: bytesToB64url(created.response.attestationObject),
      transports: created.response.getTransports ? created.response.getTransports() : [],
    },
    clientExtensionResults: created.getClientExtensionResults ? created.getClientExtensionResults() : {},
  };
  const answer = await post("/api/enrol", { nonce: started.nonce, credential });
  if (!answer.ok) return say(form, problems(answer), false);
  const where = answer.written ? "已写入 manual/policy.yml（工作副本）" : "请把下面的修改提交到 manual/policy.yml";
  say(form, "已登记：" + answer.name + " 的凭据 " + answer.credential_id + "；" + where, true);
  document.getElementById("desk-patch").textContent = answer.patch;
  document.getElementById("desk-enrol-next").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const me = document.getElementById("desk-me");
  if (me) {
    me.elements.signer.addEventListener("change", async () => {
      const answer = await post("/api/me", { signer: me.elements.signer.value });
      if (answer.ok) window.location.assign("/");
    });
  }
  const enrolForm = document.getElementById("desk-enrol");
  if (enrolForm) {
    enrolForm.querySelector("button[data-enrol]").addEventListener("click", () => {
      enrolCredential(enrolForm).catch((error) => say(enrolForm, "登记失败：" + error, false));
    });
  }
  for (const form of document.querySelectorAll("form.desk-sign")) {
    for (const button of form.querySelectorAll("button[data-method]")) {
      button.addEventListener("click", () => {
        sign(form, button.dataset.method).catch((error) => say(form, "签署失败：" + error, false));
      });
    }
  }
});
