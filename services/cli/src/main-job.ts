/**
 * What the main job (`bluelight run`, `npm start`) uses unless the environment says otherwise,
 * so the commands run beside it (`bluelight report`) read the same data by default.
 */
export const MAIN_JOB_DATABASE = 'bluelight';

/** The local stack the main job starts (its --name). */
export const MAIN_JOB_STACK = 'default';
