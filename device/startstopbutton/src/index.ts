export * from './button-driver.js';
export * from './clock.js';
export * from './debouncer.js';
export * from './gpio-access-error.js';
export * from './gpio-numbering.js';
export * from './led-pattern.js';
export * from './onoff-driver.js';
export * from './start-stop-button.js';
