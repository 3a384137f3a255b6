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
