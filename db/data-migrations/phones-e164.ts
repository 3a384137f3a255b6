/**
 * Every stored phone gains its E.164 form (domain/phones.ts), read in
 * PHONE_DEFAULT_REGION when written without a country code. A number that
 * does not parse is kept as typed with `e164: null`, and its customer is
 * reported by ID: someone has to look at it.
 */
import { sql } from 'drizzle-orm';
import type { PhoneNumber } from '../../domain/contacts';
import { keyDigits, phoneKey, toE164 } from '../../domain/phones';
import { parsePhoneRegion } from '../../lib/config';
import { enqueueSearchSync } from '../queries/search-outbox';
import type { DataMigration } from '../migrate';

/** Stored before numbers were parsed: no `e164` member at all. */
type StoredPhone = Omit<PhoneNumber, 'e164'> & { e164?: string | null };

/** Customer IDs listed in the log and the report; the rest are counted (docs/phones.md finds them all). */
const LISTED_IDS = 100;

export const phonesE164: DataMigration = {
  name: 'phones-e164',
  async run({ tx, log, env, batchSize }) {
    const region = parsePhoneRegion(env);
    let customersUpdated = 0;
    let phonesParsed = 0;
    let phonesUnparseable = 0;
    const unparseable: string[] = [];
    for (let after = '00000000-0000-0000-0000-000000000000'; ;) {
      // Only rows holding a phone without the member: a rerun finds nothing to do.
      const page = await tx.execute<{ id: string; phones: StoredPhone[] }>(sql`
        select id, phones from customers
        where id > ${after}::uuid
          and jsonb_path_exists(phones, '$[*] ? (!(exists(@.e164)))')
        order by id limit ${batchSize}`);
      if (page.rows.length === 0) break;
      const updates = page.rows.map(({ id, phones }) => {
        const migrated = phones.map((phone): PhoneNumber => {
          if (phone.e164 !== undefined) return { ...phone, e164: phone.e164 };
          const e164 = toE164(phone.number, region);
          if (e164) phonesParsed++;
          else phonesUnparseable++;
          return { number: phone.number, e164, preferred: phone.preferred };
        });
        if (migrated.some((phone) => phone.e164 === null)) unparseable.push(id);
        // The index holds phone keys: a number whose key changed (a national spelling) is re-indexed.
        const rekeyed = phones.some(
          (phone, i) =>
            keyDigits(phoneKey({ number: phone.number, e164: phone.e164 ?? null })) !==
            keyDigits(phoneKey(migrated[i]!)),
        );
        return { id, phones: migrated, rekeyed };
      });
      await tx.execute(sql`
        update customers c set phones = v.phones
        from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as v(id uuid, phones jsonb)
        where c.id = v.id`);
      await enqueueSearchSync(
        tx,
        'customer',
        updates.filter((u) => u.rekeyed).map((u) => u.id),
      );
      customersUpdated += updates.length;
      log(`${customersUpdated} customers so far`);
      after = page.rows.at(-1)!.id;
    }
    const listed = unparseable.slice(0, LISTED_IDS);
    log(
      `region ${region}: ${phonesParsed} phones of ${customersUpdated} customers gained their E.164 form; ` +
        `${phonesUnparseable} phones could not be parsed and are kept as typed (e164 null)` +
        (unparseable.length > 0
          ? `, in ${unparseable.length} customers: ${listed.join(', ')}` +
            (unparseable.length > listed.length
              ? ` and ${unparseable.length - listed.length} more`
              : '')
          : ''),
    );
    return {
      region,
      customersUpdated,
      phonesParsed,
      phonesUnparseable,
      customersWithUnparseablePhones: unparseable.length,
      unparseableCustomerIds: listed,
    };
  },
};
