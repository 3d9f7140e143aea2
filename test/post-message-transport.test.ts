/**
 * The postMessage transport (a benchmark baseline) must keep every promise
 * the SharedArrayBuffer transport keeps: the same conformance suite runs
 * against it (style rule 12).
 */
import t from 'tap';
import { storeConformance } from './helpers/conformance.js';

storeConformance(t, 'post-message');
