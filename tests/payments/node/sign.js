// Sign requests with the official createHeaders() of @interledger/http-signature-utils.
// stdin: {"privateKeyPem": "...", "keyId": "...", "requests": [{"method", "url", "headers", "body"}]}
// stdout: [{headers added by createHeaders}, ...]
'use strict'
const { createPrivateKey } = require('crypto')
const { createHeaders } = require('@interledger/http-signature-utils')

async function main () {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const { privateKeyPem, keyId, requests } = JSON.parse(input)
  const privateKey = createPrivateKey(privateKeyPem)
  const results = []
  for (const request of requests) {
    const signed = await createHeaders({
      request: { method: request.method, url: request.url, headers: { ...request.headers }, body: request.body || undefined },
      privateKey,
      keyId
    })
    results.push(signed)
  }
  process.stdout.write(JSON.stringify(results))
}

main().catch((error) => { console.error(error); process.exit(2) })
