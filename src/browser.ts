/**
 * shrinkray for browsers: the same API without Node's file system (no MNIST files, no saveModel;
 * model files are bytes: modelToSafetensors / modelFromSafetensors). createDevice uses
 * navigator.gpu there.
 */
export * from './api.js';
