// wgsl_reflect's Node entry is CommonJS inside a "type": "module" package and fails to load, so
// we import its ESM build; this gives that path the package's own types.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
