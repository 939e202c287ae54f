// @laserfiche/lf-api-client-core ships ES modules with an extensionless relative import
// ('./ApiException'), which Node's ESM resolver rejects. Append ".js" to extensionless relative
// specifiers imported from inside that package; everything else resolves unchanged.
export async function resolve(specifier, context, nextResolve) {
  const fromCore = context.parentURL && context.parentURL.includes('/@laserfiche/lf-api-client-core/');
  const relative = specifier.startsWith('./') || specifier.startsWith('../');
  const lastSegment = specifier.split('/').pop();
  if (fromCore && relative && !lastSegment.includes('.')) {
    return nextResolve(`${specifier}.js`, context);
  }
  return nextResolve(specifier, context);
}
