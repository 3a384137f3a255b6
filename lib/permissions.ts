import { DomainError } from './errors';

/**
 * Every permission a permission set can hold; admins hold all of them. Per
 * object type and action, following the hierarchy: a customer's deletion
 * takes its conversations, messages, KObjects and events with it, so it needs
 * `customers.delete` alone. Companies belong to the customer profile and are
 * read, written and deleted under `customers.*`.
 */
export const permissionDescriptions = {
  'customers.read': 'Read customers and companies, their timelines and directories',
  'customers.write': 'Create and change customers and companies',
  'customers.delete': 'Delete customers (their whole timeline with them) and companies',
  'customers.merge':
    'Merge customers (and undo a merge), split timelines and move KObjects between customers',
  'conversations.read': 'Read conversations and their messages',
  'conversations.write': 'Create and change conversations, add messages, pin them',
  'conversations.delete': 'Delete conversations',
  'kobjects.read': 'Read KObjects and klasses',
  'kobjects.write': 'Create KObjects and klasses, pin KObjects',
  'kobjects.delete': 'Delete KObjects',
  'events.read': "Read a customer's engagement events",
  'events.write': 'Record engagement events',
  'reports.read': 'Read aggregate reports (no personal data)',
  'searches.read': 'Search, and keep saved searches',
  'searches.bulkDelete': "Erase in bulk (with the erased type's delete permission)",
  'gdpr.manage': 'Track GDPR requests (erasing through one needs customers.delete too)',
} as const;

export type Permission = keyof typeof permissionDescriptions;
export const permissions = Object.keys(permissionDescriptions) as Permission[];

/** The object types whose read / write / delete permissions guard them. */
export type ObjectType = 'customers' | 'conversations' | 'kobjects';
export const readPermission = (type: ObjectType): Permission => `${type}.read`;
export const deletePermission = (type: ObjectType): Permission => `${type}.delete`;

export function hasPermission(
  user: { isAdmin: boolean; permissions: readonly string[] },
  permission: Permission,
): boolean {
  return user.isAdmin || user.permissions.includes(permission);
}

/**
 * Permissions that are useless without others: a bulk delete of "every match
 * of a saved search" has to read that search; a merge shows and moves what
 * the two customers hold.
 */
export const permissionRequires: Readonly<Partial<Record<Permission, readonly Permission[]>>> = {
  'searches.bulkDelete': ['searches.read'],
  'customers.merge': ['customers.read', 'customers.write'],
};

/** Refuses a permission set that holds a permission without the ones it needs. */
export function assertCoherentPermissions(granted: readonly string[]): void {
  for (const permission of granted) {
    const requires = Object.hasOwn(permissionRequires, permission)
      ? permissionRequires[permission as Permission]
      : undefined;
    const missing = requires?.find((needed) => !granted.includes(needed));
    if (missing) {
      throw new DomainError(
        'unprocessable',
        'PERMISSION_REQUIRES_ANOTHER',
        `The permission ${permission} needs ${missing} as well.`,
        { permission, requires: missing },
      );
    }
  }
}
