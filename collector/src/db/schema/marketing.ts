/** The views marketers query (sessions, customer_profiles, …). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MarketingTables {}
