// The official Open Payments SDK (@interledger/open-payments, validateResponses: true) paying through the
// test wallet: the peer-to-peer example flow plus the calls around it. Input: JSON on stdin
// {clientUrl, keyId, keyPath, sender, receiver}. Output: one JSON object on stdout describing each step.
'use strict'

const crypto = require('crypto')
const { createAuthenticatedClient, createUnauthenticatedClient, isFinalizedGrant } = require('@interledger/open-payments')

function readStdin() {
  return new Promise((resolve) => {
    let data = ''
    process.stdin.on('data', (chunk) => (data += chunk))
    process.stdin.on('end', () => resolve(JSON.parse(data)))
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function main() {
  const input = await readStdin()
  const steps = {}
  const client = await createAuthenticatedClient({
    walletAddressUrl: input.clientUrl,
    keyId: input.keyId,
    privateKey: input.keyPath,
    validateResponses: true,
    useHttp: true
  })

  // wallet addresses and keys
  const sender = await client.walletAddress.get({ url: input.sender })
  const receiver = await client.walletAddress.get({ url: input.receiver })
  const clientKeys = await client.walletAddress.getKeys({ url: input.clientUrl })
  steps.walletAddresses = { sender, receiver, clientKeyIds: clientKeys.keys.map((k) => k.kid) }

  // incoming-payment grant and incoming payment on the receiver
  const incomingPaymentGrant = await client.grant.request(
    { url: receiver.authServer },
    { access_token: { access: [{ type: 'incoming-payment', actions: ['list', 'read', 'complete', 'create'] }] } }
  )
  steps.incomingPaymentGrant = { finalized: isFinalizedGrant(incomingPaymentGrant) }
  const incomingPayment = await client.incomingPayment.create(
    { url: receiver.resourceServer, accessToken: incomingPaymentGrant.access_token.value },
    {
      walletAddress: receiver.id,
      incomingAmount: { assetCode: receiver.assetCode, assetScale: receiver.assetScale, value: '1000' },
      metadata: { description: 'Job #42 — café', externalRef: 'job-42' }
    }
  )
  steps.incomingPayment = incomingPayment

  // quote grant and quote on the sender
  const quoteGrant = await client.grant.request(
    { url: sender.authServer },
    { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } }
  )
  const quote = await client.quote.create(
    { url: sender.resourceServer, accessToken: quoteGrant.access_token.value },
    { walletAddress: sender.id, receiver: incomingPayment.id, method: 'ilp' }
  )
  const quoteAgain = await client.quote.get({ url: quote.id, accessToken: quoteGrant.access_token.value })
  steps.quote = { quote, readBackEqual: JSON.stringify(quote) === JSON.stringify(quoteAgain) }

  // interactive outgoing-payment grant; the wallet runs with auto-consent, so the redirect finishes at once
  const nonce = crypto.randomUUID()
  const pending = await client.grant.request(
    { url: sender.authServer },
    {
      access_token: {
        access: [
          {
            type: 'outgoing-payment',
            actions: ['list', 'read', 'create'],
            identifier: sender.id,
            limits: { debitAmount: quote.debitAmount }
          }
        ]
      },
      interact: { start: ['redirect'], finish: { method: 'redirect', uri: 'http://127.0.0.1:9/callback?job=42', nonce } }
    }
  )
  const consent = await fetch(pending.interact.redirect, { redirect: 'manual' })
  const location = new URL(consent.headers.get('location'))
  const interactRef = location.searchParams.get('interact_ref')
  const expectedHash = crypto
    .createHash('sha256')
    .update(`${nonce}\n${pending.interact.finish}\n${interactRef}\n${sender.authServer}`)
    .digest('base64')
  steps.consent = {
    status: consent.status,
    hashMatches: location.searchParams.get('hash') === expectedHash,
    finalizedBeforeContinue: isFinalizedGrant(pending)
  }
  await sleep((pending.continue.wait || 0) * 1000)
  const grant = await client.grant.continue(
    { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
    { interact_ref: interactRef }
  )
  steps.continue = { finalized: isFinalizedGrant(grant), access: grant.access_token.access }

  // the outgoing payment, then wait for it to complete
  const outgoingPayment = await client.outgoingPayment.create(
    { url: sender.resourceServer, accessToken: grant.access_token.value },
    { walletAddress: sender.id, quoteId: quote.id, metadata: { externalRef: 'job-42' } }
  )
  steps.outgoingPayment = outgoingPayment
  let current = outgoingPayment
  for (let i = 0; i < 100 && current.sentAmount.value !== quote.receiveAmount.value; i++) {
    await sleep(50)
    current = await client.outgoingPayment.get({ url: outgoingPayment.id, accessToken: grant.access_token.value })
  }
  steps.completedPayment = current
  steps.incomingAfter = await client.incomingPayment.get({
    url: incomingPayment.id,
    accessToken: incomingPaymentGrant.access_token.value
  })
  const unauthenticated = await createUnauthenticatedClient({ validateResponses: true, useHttp: true })
  steps.publicIncoming = await unauthenticated.incomingPayment.get({ url: incomingPayment.id })
  steps.grantSpent = await client.outgoingPayment.getGrantSpentAmounts({
    url: sender.resourceServer,
    accessToken: grant.access_token.value
  })
  const outgoingList = await client.outgoingPayment.list(
    { url: sender.resourceServer, walletAddress: sender.id, accessToken: grant.access_token.value },
    { first: 10 }
  )
  const incomingList = await client.incomingPayment.list(
    { url: receiver.resourceServer, walletAddress: receiver.id, accessToken: incomingPaymentGrant.access_token.value },
    { first: 10 }
  )
  steps.lists = { outgoing: outgoingList.result.map((p) => p.id), incoming: incomingList.result.map((p) => p.id) }

  // token management and grant cancellation
  const rotated = await client.token.rotate({
    url: incomingPaymentGrant.access_token.manage,
    accessToken: incomingPaymentGrant.access_token.value
  })
  await client.token.revoke({ url: rotated.access_token.manage, accessToken: rotated.access_token.value })
  await client.grant.cancel({ url: grant.continue.uri, accessToken: grant.continue.access_token.value })
  let afterCancel = null
  try {
    await client.outgoingPayment.get({ url: outgoingPayment.id, accessToken: grant.access_token.value })
  } catch (error) {
    afterCancel = { status: error.status, description: error.description }
  }
  steps.tokens = {
    rotatedChanged: rotated.access_token.value !== incomingPaymentGrant.access_token.value,
    manageChanged: rotated.access_token.manage !== incomingPaymentGrant.access_token.manage,
    afterCancel
  }
  process.stdout.write(JSON.stringify(steps))
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n${JSON.stringify(error, null, 1)}\n`)
  process.exit(1)
})
