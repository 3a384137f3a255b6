import { DomainError } from './errors';

/** Every permission a user can be given; admins hold all of them. */
export const permissions = [
  'customers.merge',
  'objects.delete',
  'searches.read',
  'searches.bulkDelete',
  'gdpr.manage',
] as const;

export type Permission = (typeof permissions)[number];

export function hasPermission(
  user: { isAdmin: boolean; permissions: readonly string[] },
  permission: Permission,
): boolean {
  return user.isAdmin || user.permissions.includes(permission);
}

/**
 * Permissions that are useless without another: a bulk delete of "every match
 * of a saved search" has to read that search.
 */
export const permissionRequires: Readonly<Partial<Record<Permission, Permission>>> = {
  'searches.bulkDelete': 'searches.read',
};

/** Refuses a permission set that holds a permission without the one it needs. */
export function assertCoherentPermissions(granted: readonly string[]): void {
  for (const permission of granted) {
    const requires = Object.hasOwn(permissionRequires, permission)
      ? permissionRequires[permission as Permission]
      : undefined;
    if (requires && !granted.includes(requires)) {
      throw new DomainError(
        'unprocessable',
        'PERMISSION_REQUIRES_ANOTHER',
        `The permission ${permission} needs ${requires} as well.`,
        { permission, requires },
      );
    }
  }
}
