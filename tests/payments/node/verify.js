// Verify signed requests the way Rafiki does, with the official @interledger/http-signature-utils.
// stdin: {"jwk": {...}, "requests": [{"method", "url", "headers", "body"}]}  (body: raw string or null)
// stdout: [{"headersValid": bool, "signatureValid": bool}, ...]
'use strict'
const { validateSignatureHeaders, validateSignature } = require('@interledger/http-signature-utils')

async function check (jwk, request) {
  const headers = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value
  // Rafiki hands the verifier JSON.stringify(ctx.request.body): the parsed body, re-serialised.
  const body = request.body ? JSON.stringify(JSON.parse(request.body)) : undefined
  const requestLike = { method: request.method, url: request.url, headers, body }
  const headersValid = validateSignatureHeaders(requestLike)
  let signatureValid = false
  if (headersValid) signatureValid = await validateSignature(jwk, requestLike)
  return { headersValid, signatureValid }
}

async function main () {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const { jwk, requests } = JSON.parse(input)
  const results = []
  for (const request of requests) results.push(await check(jwk, request))
  process.stdout.write(JSON.stringify(results))
}

main().catch((error) => { console.error(error); process.exit(2) })
