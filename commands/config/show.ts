import { DifyCommand } from '../../src/cli/command.js'
import { showConfig, type ShownConfig } from '../../src/config/show.js'
import { resolveSecretKey, secretKeySourceText } from '../../src/dify/secret-key.js'
import { renderConfig } from '../../src/config/render.js'

export default class ConfigShow extends DifyCommand {
  static override summary = 'Print the effective configuration, secrets redacted, with where each value came from.'
  static override description =
    'Reads the same variables as the dify-api container. Precedence: --env-file > process environment > ./.env > defaults. Passwords, keys and credentials in URLs are never printed. When SECRET_KEY is empty, the storage object .dify_secret_key (where Dify 1.14.1+ keeps the key it generated) is looked for and the source is shown, never the key.'
  static override examples = [
    '<%= config.bin %> config show',
    '<%= config.bin %> config show --env-file /app/api/.env --json',
  ]

  async run(): Promise<ShownConfig> {
    await this.parse(ConfigShow)
    const cfg = this.config_()
    const { info } = await resolveSecretKey(cfg, { fromStorage: null, storage: () => this.runtime().storage() })
    const shown = showConfig(cfg, info)
    this.out.lines(renderConfig(shown, secretKeySourceText(info)))
    return shown
  }
}
