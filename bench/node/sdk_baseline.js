// The link sequence of the payment pipeline, run by the official Open Payments SDK
// (@interledger/open-payments, default options) in one warm process, `concurrency` links at a time (1:
// one after another): wallet addresses (2), incoming-payment grant, incoming payment, quote grant, quote,
// interactive grant.
// Input: JSON on stdin {clientUrl, keyId, keyPath, sender, receiver, links, warmup, finishUri, concurrency}.
// Output: one JSON object on stdout {links, seconds, ms: [per-link milliseconds]}.
'use strict'

const crypto = require('crypto')
const { createAuthenticatedClient } = require('@interledger/open-payments')

function readStdin() {
  return new Promise((resolve) => {
    let data = ''
    process.stdin.on('data', (chunk) => (data += chunk))
    process.stdin.on('end', () => resolve(JSON.parse(data)))
  })
}

async function link(client, input, n) {
  const sender = await client.walletAddress.get({ url: input.sender })
  const receiver = await client.walletAddress.get({ url: input.receiver })
  const incomingGrant = await client.grant.request(
    { url: receiver.authServer },
    { access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read', 'list', 'complete'] }] } }
  )
  const incoming = await client.incomingPayment.create(
    { url: receiver.resourceServer, accessToken: incomingGrant.access_token.value },
    {
      walletAddress: receiver.id,
      incomingAmount: { assetCode: receiver.assetCode, assetScale: receiver.assetScale, value: '1250' },
      expiresAt: new Date(Date.now() + 24 * 3600 * 1000).toISOString(),
      metadata: { description: `Job #${n}: bench`, externalRef: `job-${n}` }
    }
  )
  const quoteGrant = await client.grant.request(
    { url: sender.authServer },
    { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } }
  )
  const quote = await client.quote.create(
    { url: sender.resourceServer, accessToken: quoteGrant.access_token.value },
    { walletAddress: sender.id, receiver: incoming.id, method: 'ilp' }
  )
  const pending = await client.grant.request(
    { url: sender.authServer },
    {
      access_token: {
        access: [
          {
            type: 'outgoing-payment',
            actions: ['create', 'read', 'list'],
            identifier: sender.id,
            limits: { debitAmount: quote.debitAmount }
          }
        ]
      },
      interact: {
        start: ['redirect'],
        finish: { method: 'redirect', uri: `${input.finishUri}/${n}`, nonce: crypto.randomBytes(32).toString('base64url') }
      }
    }
  )
  if (!pending.interact || !pending.interact.redirect) throw new Error('no redirect in the grant')
  return pending.interact.redirect
}

async function main() {
  const input = await readStdin()
  const client = await createAuthenticatedClient({
    walletAddressUrl: input.clientUrl,
    keyId: input.keyId,
    privateKey: input.keyPath,
    useHttp: true
  })
  for (let i = 0; i < input.warmup; i++) await link(client, input, -1 - i)
  const ms = []
  let next = 0
  async function runner() {
    while (next < input.links) {
      const n = next++
      const t = process.hrtime.bigint()
      await link(client, input, n)
      ms.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
  }
  const start = process.hrtime.bigint()
  await Promise.all(Array.from({ length: input.concurrency || 1 }, runner))
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  process.stdout.write(JSON.stringify({ links: input.links, seconds, ms }) + '\n')
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error)
  process.exit(1)
})
