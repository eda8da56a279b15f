/** The identity graph's tables (customers, identities, identity_merges). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface IdentityTables {}
