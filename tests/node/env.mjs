// Inputs of the client scripts: environment variables set by their pytest tests.
export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
