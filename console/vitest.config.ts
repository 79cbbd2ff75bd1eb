import { defineConfig, mergeConfig } from 'vitest/config'
import viteConfig from './vite.config.ts'

export default mergeConfig(viteConfig, defineConfig({
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    restoreMocks: true,
    // Element Plus components import their CSS: let Vite handle them, not Node.
    server: { deps: { inline: ['element-plus'] } },
  },
}))
