import { createApp } from 'vue'
import 'element-plus/theme-chalk/base.css'
import './styles.css'
import App from './App.vue'
import { installSessionHooks } from './auth/session'
import { i18n, locale } from './i18n'
import { router, toLogin } from './router'

installSessionHooks({ language: locale, unauthorized: () => toLogin(true) })
document.documentElement.lang = locale()

createApp(App).use(i18n).use(router).mount('#app')
