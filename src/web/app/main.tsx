/** Starts the page: one store, one controller and its socket, the app rendered into #app. */
import { render } from 'preact'
import { App } from './app.tsx'
import { ControllerContext } from './app-context.ts'
import { Controller } from './controller.ts'
import { Store } from './store.ts'

const root = document.getElementById('app')
if (root === null) throw new Error('the page has no #app element')
const controller = new Controller(new Store(), window.location)
render(<ControllerContext.Provider value={controller}><App /></ControllerContext.Provider>, root)
controller.start()
