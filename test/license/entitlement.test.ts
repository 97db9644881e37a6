import t from 'tap'
import { decideEntitlement, type EntitlementInput, type LicenseFacts, type SeatState } from '../../src/license/entitlement.js'
import { generateKey } from '../../src/license/key.js'

const ISHOP_KEY = generateKey('ishop')
const released = new Date('2026-06-01T00:00:00Z')
const before = new Date('2026-05-31T23:59:59Z')
const after = new Date('2026-06-02T00:00:00Z')

function decide (license: LicenseFacts | undefined, seat: SeatState, extra: Partial<EntitlementInput> = {}): string {
  const result = decideEntitlement({ serial: ISHOP_KEY, program: 'ishop', license, seat, releasedAt: released, ...extra })
  return result.entitled ? (result.bindSeat ? 'ENTITLED+BIND' : 'ENTITLED') : result.reason
}

t.test('no serial, a mistyped one, or one the server does not know', async (t) => {
  t.equal(decide(undefined, 'free', { serial: undefined }), 'NO_LICENSE')
  t.equal(decide(undefined, 'free', { serial: '  ' }), 'NO_LICENSE')
  const typo = ISHOP_KEY.slice(0, 7) + (ISHOP_KEY[7] === 'A' ? 'B' : 'A') + ISHOP_KEY.slice(8)
  t.equal(decide(undefined, 'free', { serial: typo }), 'KEY_INVALID')
  t.equal(decide(undefined, 'free', { serial: 'hello' }), 'KEY_INVALID')
  t.equal(decide(undefined, 'free'), 'LICENSE_UNKNOWN')
  t.equal(decide(undefined, 'free', { serial: generateKey('taxspooler') }), 'WRONG_PROGRAM', 'a valid key of another program')
})

t.test('the entitlement table: status × maintenance × seat × program', async (t) => {
  const maintenance = { none: null, 'ends after release': after, 'ends on release': released, 'ended before release': before }
  // Expected outcome per (status, maintenance) for seat bound / free / full; the first failing rule wins.
  const expected: Record<string, Record<string, [string, string, string]>> = {
    active: {
      none: ['ENTITLED', 'ENTITLED+BIND', 'SEAT_LIMIT'],
      'ends after release': ['ENTITLED', 'ENTITLED+BIND', 'SEAT_LIMIT'],
      'ends on release': ['ENTITLED', 'ENTITLED+BIND', 'SEAT_LIMIT'],
      'ended before release': ['MAINTENANCE_EXPIRED', 'MAINTENANCE_EXPIRED', 'MAINTENANCE_EXPIRED']
    },
    suspended: Object.fromEntries(Object.keys(maintenance).map((m) => [m, ['LICENSE_SUSPENDED', 'LICENSE_SUSPENDED', 'LICENSE_SUSPENDED']])),
    revoked: Object.fromEntries(Object.keys(maintenance).map((m) => [m, ['LICENSE_REVOKED', 'LICENSE_REVOKED', 'LICENSE_REVOKED']]))
  }
  let rows = 0
  for (const status of ['active', 'suspended', 'revoked'] as const) {
    for (const [name, end] of Object.entries(maintenance)) {
      const seats: SeatState[] = ['bound', 'free', 'full']
      seats.forEach((seat, i) => {
        t.equal(decide({ program: 'ishop', status, maintenanceEnd: end }, seat), expected[status][name][i], `${status}, maintenance ${name}, seat ${seat}`)
        t.equal(decide({ program: 'taxspooler', status, maintenanceEnd: end }, seat), 'WRONG_PROGRAM', `${status}, maintenance ${name}, seat ${seat}, wrong program`)
        rows += 2
      })
    }
  }
  t.equal(rows, 72)
})

t.test('updates of an owned version need no maintenance, but an active license and a seat', async (t) => {
  const expired = { program: 'ishop', status: 'active' as const, maintenanceEnd: before }
  t.equal(decide(expired, 'bound', { releasedAt: undefined }), 'ENTITLED')
  t.equal(decide(expired, 'free', { releasedAt: undefined }), 'ENTITLED+BIND')
  t.equal(decide(expired, 'full', { releasedAt: undefined }), 'SEAT_LIMIT')
  t.equal(decide({ ...expired, status: 'suspended' }, 'bound', { releasedAt: undefined }), 'LICENSE_SUSPENDED')
})

t.test('serials are read as typed: lower case, no dashes', async (t) => {
  const license = { program: 'ishop', status: 'active' as const, maintenanceEnd: null }
  t.equal(decide(license, 'bound', { serial: ISHOP_KEY.toLowerCase().replace(/-/g, '') }), 'ENTITLED')
})
