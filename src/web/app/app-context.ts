/** The controller, for every component below the app without passing it down. */
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import type { Controller } from './controller.ts'

export const ControllerContext = createContext<Controller | undefined>(undefined)

export function useController (): Controller {
  const controller = useContext(ControllerContext)
  if (controller === undefined) throw new Error('useController outside of the app')
  return controller
}
