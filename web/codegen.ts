// Types for every operation in src/, generated from the server's SDL.
// Run `npm run codegen` after a change to ../schema.graphql or to an
// operation; CI fails when the committed src/gql/ is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        // Documents stay plain strings (TypedDocumentString): the client
        // POSTs them with fetch, so no GraphQL AST or printer ships.
        fragmentMasking: false,
      },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        // RFC 3339 strings on the wire; ID is always a string here.
        scalars: { DateTime: 'string', ID: 'string' },
        skipTypename: true,
      },
    },
  },
};

export default config;
