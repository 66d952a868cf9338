/**
 * The library's data-parallel worker (training/parallel_worker.ts) as an entry of its own, so
 * the site's build bundles it into parallel_worker.js next to train_worker.js, which passes that
 * URL to DataParallel as `workerUrl` (a bundle moves files: the library's default, next to
 * training/parallel.ts, does not exist in site/). It adds nothing.
 *
 * @module
 */

import "../training/parallel_worker.ts";
