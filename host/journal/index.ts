/** The journal's public surface: openJournal for the monitor, readJournal for replay. */
export * from './journal.ts';
export * from './incidents.ts';
